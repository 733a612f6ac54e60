param name string
output name string = name
