// Valid Bicep that pycep's grammar cannot follow even simplified: a #disable-next-line pragma inside
// a loop. Offered, with a warning that the sandbox cannot evaluate it.
param names string[] = []

output ids array = [
  #disable-next-line outputs-should-not-contain-secrets
  for index in range(0, length(names)): {
    name: names[index]
  }
]
