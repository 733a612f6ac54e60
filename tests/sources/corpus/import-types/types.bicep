@export()
@description('Where a workload runs.')
type environmentType = 'dev' | 'staging' | 'prod'

@export()
type skuType = {
  name: string
  capacity: int?
}
