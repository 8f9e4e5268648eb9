// Task tag encoding and decoding (see task_tag.h). Runs on the delegate queue of the Apple
// engine; pure functions, no state.
#include "apple/task_tag.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>

namespace urlsession {
namespace {

void AppendString(std::string* out, const std::string& text) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(static_cast<char>(c));  // UTF-8 passes through, as JSON allows
    }
  }
  out->push_back('"');
}

// One JSON value of a flat object: nested arrays/objects are not part of any tag of ours.
struct Value {
  enum Type { String, Number, Bool, Null } type = Null;
  std::string text;
  double number = 0;
  bool boolean = false;
};

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  bool Object(std::map<std::string, Value>* out) {
    Skip();
    if (!Eat('{')) return false;
    Skip();
    if (Eat('}')) return End();
    for (;;) {
      std::string key;
      Value value;
      Skip();
      if (!String(&key)) return false;
      Skip();
      if (!Eat(':')) return false;
      Skip();
      if (!ParseValue(&value)) return false;
      (*out)[key] = std::move(value);
      Skip();
      if (Eat(',')) continue;
      if (Eat('}')) return End();
      return false;
    }
  }

 private:
  bool End() {
    Skip();
    return i_ == s_.size();
  }
  void Skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Word(const char* word) {
    size_t n = std::char_traits<char>::length(word);
    if (s_.compare(i_, n, word) != 0) return false;
    i_ += n;
    return true;
  }
  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }
  bool Hex4(uint32_t* out) {
    if (i_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    *out = v;
    return true;
  }
  bool String(std::string* out) {
    if (!Eat('"')) return false;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/': out->push_back(e); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {  // a surrogate pair (NSJSONSerialization may write one)
            uint32_t low;
            if (!Word("\\u") || !Hex4(&low) || low < 0xdc00 || low >= 0xe000) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            return false;
          }
          AppendUtf8(out, cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }
  bool ParseValue(Value* v) {
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '"') {
      v->type = Value::String;
      return String(&v->text);
    }
    if (Word("true")) {
      v->type = Value::Bool;
      v->boolean = true;
      return true;
    }
    if (Word("false")) {
      v->type = Value::Bool;
      v->boolean = false;
      return true;
    }
    if (Word("null")) {
      v->type = Value::Null;
      return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = i_;
      while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' || s_[i_] == '+' ||
                                s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E'))
        ++i_;
      std::string number = s_.substr(start, i_ - start);
      char* end = nullptr;
      v->number = std::strtod(number.c_str(), &end);
      v->type = Value::Number;
      return end != nullptr && *end == '\0' && std::isfinite(v->number);
    }
    return false;  // arrays and objects: never in a tag of ours
  }

  const std::string& s_;
  size_t i_ = 0;
};

// NSJSONSerialization (tags written by versions before this file) writes BOOLs as true/false;
// a bool key must hold a bool, a string key a string: anything else is a foreign or corrupted tag.
bool TakeBool(const std::map<std::string, Value>& m, const char* key, bool* out) {
  auto found = m.find(key);
  if (found == m.end()) return true;
  if (found->second.type != Value::Bool) return false;
  *out = found->second.boolean;
  return true;
}

bool TakeString(const std::map<std::string, Value>& m, const char* key, std::string* out) {
  auto found = m.find(key);
  if (found == m.end()) return true;
  if (found->second.type != Value::String) return false;
  *out = found->second.text;
  return true;
}

bool IsInteger(const Value& v, double min, double max) {
  return v.type == Value::Number && v.number >= min && v.number <= max && std::floor(v.number) == v.number;
}

}  // namespace

namespace {

// The fields a tag carries have the same names in TaskTag and TaskRequest: one list serves both
// directions.
template <typename From, typename To>
void CopyTaggedFields(const From& from, To* to) {
  to->taskIdentifier = from.taskIdentifier;
  to->kind = from.kind;
  to->downloadDirectory = from.downloadDirectory;
  to->downloadFileName = from.downloadFileName;
  to->nameFromResponse = from.nameFromResponse;
  to->overwrite = from.overwrite;
  to->discardOnHttpError = from.discardOnHttpError;
  to->streamBody = from.streamBody;
  to->taskDescription = from.taskDescription;
}

}  // namespace

TaskTag TagOf(const TaskRequest& request, const std::string& temporaryBody) {
  TaskTag tag;
  CopyTaggedFields(request, &tag);
  tag.temporaryBody = temporaryBody;
  return tag;
}

TaskRequest RequestOf(const TaskTag& tag, const std::string& url, const std::string& method) {
  TaskRequest request;
  CopyTaggedFields(tag, &request);
  request.url = url;
  request.method = method;
  return request;
}

std::string EncodeTaskTag(const TaskTag& tag) {
  std::string out = "{\"urlsession\":1,\"id\":" + std::to_string(tag.taskIdentifier) +
                    ",\"kind\":" + std::to_string(static_cast<int>(tag.kind)) + ",\"dir\":";
  AppendString(&out, tag.downloadDirectory);
  out += ",\"name\":";
  AppendString(&out, tag.downloadFileName);
  out += std::string(",\"fromResponse\":") + (tag.nameFromResponse ? "true" : "false");
  out += std::string(",\"overwrite\":") + (tag.overwrite ? "true" : "false");
  out += std::string(",\"discardOnHttpError\":") + (tag.discardOnHttpError ? "true" : "false");
  out += std::string(",\"stream\":") + (tag.streamBody ? "true" : "false");
  out += ",\"description\":";
  AppendString(&out, tag.taskDescription);
  out += ",\"tmp\":";
  AppendString(&out, tag.temporaryBody);
  out += "}";
  return out;
}

bool DecodeTaskTag(const std::string& text, TaskTag* tag) {
  std::map<std::string, Value> m;
  if (!Parser(text).Object(&m)) return false;
  auto marker = m.find("urlsession");
  if (marker == m.end() || !IsInteger(marker->second, 1, 1)) return false;
  auto id = m.find("id");
  // JS numbers identifiers: integers up to 2^53.
  if (id == m.end() || !IsInteger(id->second, 1, 9007199254740992.0)) return false;
  auto kind = m.find("kind");
  if (kind == m.end() || !IsInteger(kind->second, 0, 2)) return false;
  TaskTag out;
  out.taskIdentifier = static_cast<uint64_t>(id->second.number);
  out.kind = static_cast<TaskKind>(static_cast<int>(kind->second.number));
  if (!TakeString(m, "dir", &out.downloadDirectory) || !TakeString(m, "name", &out.downloadFileName) ||
      !TakeBool(m, "fromResponse", &out.nameFromResponse) || !TakeBool(m, "overwrite", &out.overwrite) ||
      !TakeBool(m, "discardOnHttpError", &out.discardOnHttpError) || !TakeBool(m, "stream", &out.streamBody) ||
      !TakeString(m, "description", &out.taskDescription) || !TakeString(m, "tmp", &out.temporaryBody)) {
    return false;
  }
  *tag = std::move(out);
  return true;
}

}  // namespace urlsession
