{ id = "client"; }
