from scaffold.cli import main

raise SystemExit(main())
