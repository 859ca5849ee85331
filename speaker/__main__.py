from speaker.cli import main

raise SystemExit(main())
