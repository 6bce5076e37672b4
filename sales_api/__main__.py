from sales_api.cli import main

main()
