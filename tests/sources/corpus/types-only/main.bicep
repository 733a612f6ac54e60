@export()
type tagsType = {
  owner: string
}

@export()
func tagFor(owner string) object => { owner: owner }
