#include <stepline/yaml/writer.hpp>

#include <yaml.h>

#include <new>
#include <stdexcept>

namespace stepline::yaml {

struct Writer::Emitter {
  yaml_emitter_t emitter;
  bool finished = false;
};

namespace {

int append(void* out, unsigned char* buffer, size_t size) {
  static_cast<std::string*>(out)->append(reinterpret_cast<const char*>(buffer), size);
  return 1;
}

yaml_char_t* chars(std::string_view text) {
  // libyaml's event constructors copy what they are given; they take it without const.
  return reinterpret_cast<yaml_char_t*>(const_cast<char*>(text.data()));
}

/// Words that YAML readers take for null or a boolean when they are written without quotes.
bool reads_as_other(std::string_view text) {
  if (text.empty()) return true;
  for (std::string_view word :
       {"~",     "null",  "Null", "NULL", "y",  "Y",    "yes",  "Yes",  "YES",
        "n",     "N",     "no",   "No",   "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on",   "On",   "ON", "off",  "Off",  "OFF"})
    if (text == word) return true;
  return false;
}

void emit(yaml_emitter_t& emitter, yaml_event_t& event) {
  if (!yaml_emitter_emit(&emitter, &event))
    throw std::logic_error(std::string("cannot write YAML: ") +
                           (emitter.problem ? emitter.problem : "libyaml refused an event"));
}

}  // namespace

Writer::Writer() : emitter_(new Emitter) {
  yaml_emitter_t& e = emitter_->emitter;
  if (!yaml_emitter_initialize(&e)) throw std::bad_alloc();
  yaml_emitter_set_output(&e, &append, &out_);
  yaml_emitter_set_unicode(&e, 1);  // names and descriptions as they are, not \u escapes
  yaml_emitter_set_width(&e, -1);   // long values stay on their line
  yaml_emitter_set_indent(&e, 2);
  yaml_event_t event;
  yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING);
  emit(e, event);
  yaml_document_start_event_initialize(&event, nullptr, nullptr, nullptr, 1);
  emit(e, event);
}

Writer::~Writer() {
  yaml_emitter_delete(&emitter_->emitter);
}

void Writer::begin_map() {
  yaml_event_t event;
  yaml_mapping_start_event_initialize(&event, nullptr, nullptr, 1, YAML_BLOCK_MAPPING_STYLE);
  emit(emitter_->emitter, event);
}

void Writer::end_map() {
  yaml_event_t event;
  yaml_mapping_end_event_initialize(&event);
  emit(emitter_->emitter, event);
}

void Writer::begin_list(bool flow) {
  yaml_event_t event;
  yaml_sequence_start_event_initialize(&event, nullptr, nullptr, 1,
                                       flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
  emit(emitter_->emitter, event);
}

void Writer::end_list() {
  yaml_event_t event;
  yaml_sequence_end_event_initialize(&event);
  emit(emitter_->emitter, event);
}

void Writer::text(std::string_view value) {
  scalar(value, reads_as_other(value));
}

void Writer::plain(std::string_view value) {
  scalar(value, false);
}

void Writer::scalar(std::string_view value, bool quoted) {
  yaml_event_t event;
  if (!yaml_scalar_event_initialize(
          &event, nullptr, nullptr, chars(value), static_cast<int>(value.size()), !quoted, 1,
          quoted ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE))
    throw std::bad_alloc();
  emit(emitter_->emitter, event);
}

std::string Writer::finish() {
  yaml_emitter_t& e = emitter_->emitter;
  yaml_event_t event;
  yaml_document_end_event_initialize(&event, 1);
  emit(e, event);
  yaml_stream_end_event_initialize(&event);
  emit(e, event);
  yaml_emitter_flush(&e);
  std::string out = std::move(out_);
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

}  // namespace stepline::yaml
