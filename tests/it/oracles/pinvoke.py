"""Prints each assembly's P/Invoke imports as dnfile reads them: `module<TAB>entry,entry,...`."""
import sys

import dnfile

for path in sys.argv[1:]:
    pe = dnfile.dnPE(path)
    imports = {}
    impl_map = pe.net.mdtables.ImplMap if pe.net and pe.net.mdtables else None
    for row in impl_map.rows if impl_map else []:
        entry = str(row.ImportName or "")
        if not entry and row.MemberForwarded and row.MemberForwarded.row:
            entry = str(row.MemberForwarded.row.Name)
        imports.setdefault(str(row.ImportScope.row.Name), set()).add(entry)
    for module in sorted(imports):
        print(module + "\t" + ",".join(sorted(e for e in imports[module] if e)))
