metadata name = 'Multi-line strings'
metadata description = '''
Deploys a thing.

It's described over several lines, with 'quotes' and ${no interpolation}.
'''

@description('''
A parameter described
over two lines.''')
param name string

var script = '''
echo "hello"
'''

output script string = script
