@metadata({
  description: 'Read from metadata.'
  example: 'x'
})
param fromMetadata string

@sys.description('Read from a qualified decorator.')
@sys.minLength(2)
param qualified string = 'ab'

output a string = fromMetadata
