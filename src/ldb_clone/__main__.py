from ldb_clone.cli import main

if __name__ == "__main__":
    main()
