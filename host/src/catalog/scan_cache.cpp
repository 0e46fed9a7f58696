#include "scan_cache.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <system_error>

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <stepline/host/log.hpp>

#include <stepline/format/format.hpp>

#include "description_json.hpp"
#include "untrusted_json.hpp"

namespace stepline::host::catalog {
namespace {

constexpr int cache_format = 1;

const rapidjson::Value& field(const rapidjson::Value& entry, const char* name,
                              bool (rapidjson::Value::*is_type)() const) {
  if (!entry.IsObject()) throw std::runtime_error("an entry is not an object");
  auto it = entry.FindMember(name);
  if (it == entry.MemberEnd() || !(it->value.*is_type)()) {
    throw std::runtime_error(std::string("an entry lacks a valid '") + name + "'");
  }
  return it->value;
}

}  // namespace

ScanCache::ScanCache(std::filesystem::path file) : file_(std::move(file)) {
  if (file_.empty()) return;
  std::ifstream in(file_);
  if (!in) return;
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  rapidjson::Document doc;
  try {
    input::read_json_document(text, doc, format::max_nesting);
    if (!doc.IsObject() || !doc.HasMember("format") || !doc["format"].IsInt() ||
        doc["format"].GetInt() != cache_format || !doc.HasMember("libraries") ||
        !doc["libraries"].IsArray()) {
      throw std::runtime_error("not a scan cache of this version");
    }
    for (const auto& entry : doc["libraries"].GetArray()) {
      ScanRecord record;
      using V = rapidjson::Value;
      record.identity.size = field(entry, "size", &V::IsUint64).GetUint64();
      record.identity.mtime_ns = field(entry, "mtime_ns", &V::IsInt64).GetInt64();
      record.identity.sha256 = field(entry, "sha256", &V::IsString).GetString();
      if (entry.HasMember("descriptor")) {
        record.description = read_description(entry["descriptor"]);
      } else {
        record.failure = field(entry, "failure", &V::IsString).GetString();
      }
      records_[field(entry, "path", &V::IsString).GetString()] = std::move(record);
    }
  } catch (const std::exception& e) {
    log::warn("plug-in scan cache {} ignored ({}); every library is scanned again", file_.string(),
              e.what());
    records_.clear();
  }
}

const ScanRecord* ScanCache::find(const std::string& path, const FileIdentity& identity) {
  auto it = records_.find(path);
  if (it == records_.end() || !(it->second.identity == identity)) return nullptr;
  used_.insert(path);
  return &it->second;
}

void ScanCache::put(const std::string& path, ScanRecord record) {
  records_[path] = std::move(record);
  used_.insert(path);
}

void ScanCache::save() const {
  if (file_.empty()) return;
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("format");
  w.Int(cache_format);
  w.Key("libraries");
  w.StartArray();
  for (const auto& path : used_) {
    const ScanRecord& r = records_.at(path);
    w.StartObject();
    w.Key("path");
    w.String(path.c_str());
    w.Key("size");
    w.Uint64(r.identity.size);
    w.Key("mtime_ns");
    w.Int64(r.identity.mtime_ns);
    w.Key("sha256");
    w.String(r.identity.sha256.c_str());
    if (r.description) {
      w.Key("descriptor");
      write_description(w, *r.description);
    } else {
      w.Key("failure");
      w.String(r.failure.c_str());
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();

  // Write beside and rename, so a crash never leaves half a cache.
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path(), ec);
  const auto temporary = file_.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out.write(buffer.GetString(), static_cast<std::streamsize>(buffer.GetSize()));
    if (!out) {
      log::warn("cannot write the plug-in scan cache {}; libraries are scanned again next time",
                temporary);
      return;
    }
  }
  std::filesystem::rename(temporary, file_, ec);
  if (ec) log::warn("cannot write the plug-in scan cache {}: {}", file_.string(), ec.message());
}

}  // namespace stepline::host::catalog
