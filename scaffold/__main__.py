from scaffold.cli import console

console()
