from forecastlab.cli import main

main()
