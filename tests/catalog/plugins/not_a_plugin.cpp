// An ordinary shared library that happens to sit in the plug-in folder.
extern "C" int not_a_plugin_answer() {
  return 42;
}
