# Which clan service module an instance uses (docs/semantics.md, "Phase 2: references of
# instances"): the flake input it resolves to, the module's name there, and the service key that
# groups the instances of one module. Only `module` of the instance and the names of
# `serviceModules` are read.
#
#   import ./module-source.nix serviceModules instanceName instance
#   => { input = "self"; name = "borg"; key = "self/borg"; }
serviceModules: instanceName: instance:
let
  module = instance.module or { };
  given = module.input or null;
  input =
    if given != null then
      given
    else if serviceModules ? clan-core then
      "clan-core"
    else
      "self";
  name = module.name or instanceName;
  label = if input == "clan-core" then "<clan-core>" else input;
in
{
  inherit input name;
  key = "${label}/${name}";
}
