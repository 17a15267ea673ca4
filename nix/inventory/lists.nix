# Small list and attribute-set helpers shared by the resolution files.
let
  inherit (builtins)
    attrNames
    concatLists
    elemAt
    genList
    length
    listToAttrs
    zipAttrsWith
    ;
in
{
  # Drops repeated strings, keeping first occurrences (listToAttrs keeps the first of equal names).
  unique =
    list:
    let
      n = length list;
      firstIndex = listToAttrs (
        genList (i: {
          name = elemAt list i;
          value = i;
        }) n
      );
    in
    if length (attrNames firstIndex) == n then
      list
    else
      concatLists (
        genList (
          i:
          let
            x = elemAt list i;
          in
          if firstIndex.${x} == i then [ x ] else [ ]
        ) n
      );

  # `{ k = v; }` for every `k` of `keys`.
  constAttrs =
    keys: v:
    listToAttrs (
      map (k: {
        name = k;
        value = v;
      }) keys
    );

  # From a list of attribute sets: name -> the list of its values, in list order.
  collect = zipAttrsWith (_: vs: vs);
}
