func resourceName(prefix string, env string) string => '${prefix}-${env}-${uniqueString(resourceGroup().id)}'

@export()
func isProd(env string) bool => env == 'prod'

param env string = 'dev'

output name string = resourceName('app', env)
output prod bool = isProd(env)
