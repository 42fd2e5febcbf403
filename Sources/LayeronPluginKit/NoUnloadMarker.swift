/// Exported into every Swift plugin (the kit is linked into it), so the host never `dlclose`s one:
/// the Swift runtime keeps pointers into each loaded image (type metadata, protocol conformance
/// records, cached witness tables) for the life of the process, and unmapping the image would leave
/// them dangling. See `LAYERON_PLUGIN_NO_UNLOAD_SYMBOL` in layeron/plugin.h.
@_cdecl("layeron_plugin_no_unload")
public func layeronPluginNoUnload() {}
