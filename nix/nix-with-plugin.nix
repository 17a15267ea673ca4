# `nix` with the plugin loaded: `nix eval` sees `builtins.clanInventory`.
{
  symlinkJoin,
  makeWrapper,
  nix,
  plugin,
}:
symlinkJoin {
  name = "nix-${nix.version}-with-clan-inventory";
  paths = [ nix ];
  nativeBuildInputs = [ makeWrapper ];
  postBuild = ''
    wrapProgram $out/bin/nix --add-flags "--extra-plugin-files ${plugin}/lib/libclan_inventory_loader.so"
  '';
  meta.mainProgram = "nix";
}
