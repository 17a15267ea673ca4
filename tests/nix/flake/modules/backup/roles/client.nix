{ id = "backup-client"; }
