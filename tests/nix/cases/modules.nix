# The modules of the spec cases: role modules are small attribute sets, so that the described
# result shows which one landed where.
{
  borgbackup = {
    roles = {
      client = {
        id = "borgbackup-client";
      };
      server = {
        id = "borgbackup-server";
      };
    };
    constraints.roles.server.min = 1;
  };
  zerotier = {
    roles = {
      controller = {
        id = "zerotier-controller";
      };
      peer = {
        id = "zerotier-peer";
      };
    };
    constraints.roles.controller.max = 1;
  };
}
