type environmentType = 'dev' | 'staging' | 'prod'

param environment environmentType
param tier 'Basic' | 'Standard' | 'Premium' = 'Standard'
param size 1 | 2 | 4 = 2

output env string = environment
