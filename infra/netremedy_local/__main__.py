from netremedy_local.serve import main

main()
