{ networking.domain = "a.test"; }
