from inkwash.cli import main

main()
