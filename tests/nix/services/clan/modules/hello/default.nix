# modules/hello/: a directory with default.nix and no roles/ is a clan.service module.
{
  _class = "clan.service";
  manifest.name = "hello";
  manifest.readme = "Greets.";
  roles.greeter = {
    description = "Greets.";
    perInstance =
      { instanceName, machine, ... }:
      {
        nixosModule.seen = [ "hello ${instanceName} on ${machine.name}" ];
      };
  };
}
