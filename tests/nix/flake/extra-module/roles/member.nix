{ id = "extra-member"; }
