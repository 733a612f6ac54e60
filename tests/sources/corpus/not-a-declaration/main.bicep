param name string
parm location string
