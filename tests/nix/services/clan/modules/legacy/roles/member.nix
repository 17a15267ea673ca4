# modules/legacy/: a roles module (inventory.services), beside the clan.service modules.
{ seen = [ "legacy member" ]; }
