{ id = "nested"; }
