// RapidJSON (de)serialisation of LibraryDescription, shared by the scan output and the scan cache.
#pragma once

#include <stdexcept>

#include <rapidjson/document.h>
#include <rapidjson/writer.h>

#include <stepline/host/catalog/plugin_descriptor.hpp>

namespace stepline::host::catalog {

template <class Writer>
void write_description(Writer& w, const LibraryDescription& d) {
  w.StartObject();
  w.Key("abi_major");
  w.Uint(d.abi_major);
  w.Key("abi_minor");
  w.Uint(d.abi_minor);
  w.Key("struct_size");
  w.Uint(d.struct_size);
  w.Key("sdk_version");
  w.String(d.sdk_version.c_str(), static_cast<rapidjson::SizeType>(d.sdk_version.size()));
  w.Key("fingerprint");
  w.String(d.fingerprint.c_str(), static_cast<rapidjson::SizeType>(d.fingerprint.size()));
  w.Key("types");
  w.StartArray();
  for (const auto& t : d.types) {
    w.StartObject();
    w.Key("name");
    w.String(t.name.c_str(), static_cast<rapidjson::SizeType>(t.name.size()));
    w.Key("version");
    w.String(t.version.c_str(), static_cast<rapidjson::SizeType>(t.version.size()));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

inline LibraryDescription read_description(const rapidjson::Value& v) {
  auto member = [&](const rapidjson::Value& object, const char* name) -> const rapidjson::Value& {
    auto it = object.FindMember(name);
    if (it == object.MemberEnd())
      throw std::runtime_error(std::string("descriptor lacks '") + name + "'");
    return it->value;
  };
  auto text = [&](const rapidjson::Value& object, const char* name) {
    const auto& m = member(object, name);
    if (!m.IsString())
      throw std::runtime_error(std::string("descriptor field '") + name + "' is not text");
    return std::string(m.GetString(), m.GetStringLength());
  };
  auto number = [&](const char* name) {
    const auto& m = member(v, name);
    if (!m.IsUint())
      throw std::runtime_error(std::string("descriptor field '") + name + "' is not a number");
    return m.GetUint();
  };
  if (!v.IsObject()) throw std::runtime_error("descriptor is not a JSON object");
  LibraryDescription d;
  d.abi_major = number("abi_major");
  d.abi_minor = number("abi_minor");
  d.struct_size = number("struct_size");
  d.sdk_version = text(v, "sdk_version");
  d.fingerprint = text(v, "fingerprint");
  const auto& types = member(v, "types");
  if (!types.IsArray()) throw std::runtime_error("descriptor field 'types' is not a list");
  for (const auto& t : types.GetArray()) {
    if (!t.IsObject()) throw std::runtime_error("descriptor type is not a JSON object");
    d.types.push_back({text(t, "name"), text(t, "version")});
  }
  return d;
}

}  // namespace stepline::host::catalog
