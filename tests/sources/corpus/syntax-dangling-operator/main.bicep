param a int = 1
param b int = a +
