# An extraModules entry given as a path.
{ extra = [ "by-path" ]; }
