metadata description = 'A user-defined type with decorators on its properties.'

type scaleType = {
  @minValue(1)
  @maxValue(20)
  minNodes: int

  @description('Upper bound.')
  maxNodes: int?

  @sys.description('The pool\'s taint.')
  taint: string?
}

@description('How the pool scales.')
param scale scaleType

output minNodes int = scale.minNodes
