@export()
type sizeType = 'small' | 'medium' | 'large'

@export()
func prefix(name string) string => 'hp-${name}'
