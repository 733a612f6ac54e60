param name string = 'hello
