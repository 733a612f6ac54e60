using none

param name = 'shared'
