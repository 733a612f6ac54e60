import { environmentType, skuType as sku } from './types.bicep'

param environment environmentType
param sku sku = {
  name: 'P1'
}

output env string = environment
