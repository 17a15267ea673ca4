# An extraModules entry given as a string, relative to the clan's directory.
{ extra = [ "by-string" ]; }
