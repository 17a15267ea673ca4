{ id = "server"; }
