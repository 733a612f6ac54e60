type catType = {
  kind: 'cat'
  lives: int
}
type dogType = {
  kind: 'dog'
  good: bool
}

@discriminator('kind')
type petType = catType | dogType

@sealed()
type ownerType = {
  name: string
}

param pet petType
param owner ownerType

output kind string = pet.kind
