{ id = "backup-server"; }
