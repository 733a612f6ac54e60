param prefix string = 'hp'

var name = format(
  '{0}-{1}',
  prefix,
  'app'
)
var joined = concat(
  ['a'],
  ['b']
)

output name string = name
output joined array = joined
