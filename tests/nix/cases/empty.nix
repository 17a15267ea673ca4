# Nothing at all: every output is empty.
{ }
