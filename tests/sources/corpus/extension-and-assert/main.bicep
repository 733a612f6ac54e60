extension microsoftGraphV1

param appName string
param minLength int = 3

assert nameLongEnough = length(appName) >= minLength

output name string = appName
