//! Libraries that load others at run time by convention: the names come from a configuration file,
//! an environment variable or a plugin folder, and the library opens them with `dlopen`. No
//! DT_NEEDED entry names them, so checking the DT_NEEDED closure says nothing about them. This is
//! the one table of such libraries; a layer that ships one (`validate`) and an application that has
//! one (`app`) report it as loaded at run time and not checked, with how to check it.
//!
//! Invariant: only what the library's own source loads by name at run time is listed, each entry
//! with that source.

/// What a library loads at run time, and how a user makes layerc check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunTimeLoads {
    /// The library (`unixODBC`).
    pub library: &'static str,
    /// What it loads, and where the names come from.
    pub loads: &'static str,
    /// How to have those checked.
    pub check: &'static str,
}

/// Soname prefixes, each with what the library loads at run time.
const TABLE: &[(&str, RunTimeLoads)] = &[
    // unixODBC DriverManager/SQLConnect.c: the `Driver` of the DSN's section in odbcinst.ini
    // (found through ODBCSYSINI) is opened with lt_dlopen when a connection is made.
    (
        "libodbc.so.",
        RunTimeLoads {
            library: "unixODBC",
            loads: "the ODBC driver that odbcinst.ini names (`Driver = ...`) for each connection, found through ODBCSYSINI",
            check: "ship each driver with `library \"/path/of/the/driver.so\"` so that its needs are resolved, and set ODBCSYSINI to the /opt folder of the odbcinst.ini that names it",
        },
    ),
    // iODBC iodbc/connect.c: the same `Driver` key of odbcinst.ini, opened with dlopen.
    (
        "libiodbc.so.",
        RunTimeLoads {
            library: "iODBC",
            loads: "the ODBC driver that odbcinst.ini names (`Driver = ...`) for each connection",
            check: "ship each driver with `library \"/path/of/the/driver.so\"` so that its needs are resolved, and set ODBCINSTINI to the layer's odbcinst.ini",
        },
    ),
    // GDAL gcore/gdaldrivermanager.cpp, GDALDriverManager::AutoLoadDrivers: every gdal_*.so and
    // ogr_*.so of GDAL_DRIVER_PATH (or the built-in plugins folder) is opened at start-up.
    (
        "libgdal.so.",
        RunTimeLoads {
            library: "GDAL",
            loads: "its driver plugins (gdal_*.so, ogr_*.so) from GDAL_DRIVER_PATH or its built-in plugins folder",
            check: "ship the plugins with `file` (layerc resolves the needs of every ELF object a `file` ships) and set GDAL_DRIVER_PATH to their folder under /opt",
        },
    ),
    // PROJ src/filemanager.cpp: proj.db and grids are looked up through PROJ_DATA (PROJ_LIB before
    // 9.1) and the compiled-in data folder when a transformation is made.
    (
        "libproj.so.",
        RunTimeLoads {
            library: "PROJ",
            loads: "its database proj.db and grid files, found through PROJ_DATA (PROJ_LIB before PROJ 9.1)",
            check: "ship proj.db with `file` and set PROJ_DATA to its folder under /opt",
        },
    ),
    // gdk-pixbuf gdk-pixbuf/gdk-pixbuf-io.c: the loaders that loaders.cache lists
    // (GDK_PIXBUF_MODULE_FILE) are opened with g_module_open for each image format.
    (
        "libgdk_pixbuf-2.0.so.",
        RunTimeLoads {
            library: "gdk-pixbuf",
            loads: "its image loaders, listed in loaders.cache (GDK_PIXBUF_MODULE_FILE)",
            check: "ship the loaders with `file` so that their needs are resolved, a loaders.cache naming their /opt paths, and set GDK_PIXBUF_MODULE_FILE",
        },
    ),
    // Cyrus SASL lib/dlopen.c, _sasl_load_plugins: every plugin of the plugin folder (SASL_PATH).
    (
        "libsasl2.so.",
        RunTimeLoads {
            library: "Cyrus SASL",
            loads: "its mechanism plugins from the plugin folder (SASL_PATH)",
            check: "ship the mechanisms you use with `file` so that their needs are resolved, and set SASL_PATH to their folder under /opt",
        },
    ),
    // ImageMagick MagickCore/module.c: coders and filters of a modules build are opened from
    // MAGICK_CODER_MODULE_PATH (or the configured modules folder) when a format is first used.
    (
        "libMagickCore-",
        RunTimeLoads {
            library: "ImageMagick",
            loads: "its coder and filter modules (in a modules build), from MAGICK_CODER_MODULE_PATH or its configured modules folder",
            check: "ship the coders you use with `file` so that their needs are resolved, and set MAGICK_CODER_MODULE_PATH to their folder under /opt",
        },
    ),
];

/// What the library known by `name` (a soname or a file name) loads at run time, if it is one of
/// the libraries that do.
pub fn run_time_loads(name: &str) -> Option<&'static RunTimeLoads> {
    let name = name.rsplit('/').next().unwrap_or(name);
    TABLE
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, loads)| loads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_libraries_load_at_run_time() {
        assert_eq!(run_time_loads("libodbc.so.2").unwrap().library, "unixODBC");
        assert_eq!(
            run_time_loads("/opt/lib/libgdal.so.32").unwrap().library,
            "GDAL"
        );
        assert_eq!(
            run_time_loads("libMagickCore-7.Q16HDRI.so.10")
                .unwrap()
                .library,
            "ImageMagick"
        );
        assert!(run_time_loads("libodbcinst.so.2").is_none());
        assert!(run_time_loads("libz.so.1").is_none());
    }
}
