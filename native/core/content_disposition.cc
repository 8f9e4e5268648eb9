#include "core/content_disposition.h"

#include <cctype>
#include <vector>

namespace urlsession {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string TrimSpaces(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return std::string();
  size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

// Splits "a; b=\"x;y\"; c" on semicolons outside quoted strings.
std::vector<std::string> SplitParameters(const std::string& header) {
  std::vector<std::string> parts;
  std::string current;
  bool quoted = false;
  for (size_t i = 0; i < header.size(); ++i) {
    char c = header[i];
    if (quoted && c == '\\' && i + 1 < header.size()) {
      current.push_back(c);
      current.push_back(header[++i]);
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == ';' && !quoted) {
      parts.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  parts.push_back(current);
  return parts;
}

std::string Unquote(const std::string& value) {
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') return value;
  std::string out;
  for (size_t i = 1; i + 1 < value.size(); ++i) {
    if (value[i] == '\\' && i + 2 < value.size()) ++i;
    out.push_back(value[i]);
  }
  return out;
}

// RFC 8187 ext-value: charset'language'percent-encoded.
std::string DecodeExtValue(const std::string& value) {
  size_t first = value.find('\'');
  size_t second = first == std::string::npos ? std::string::npos : value.find('\'', first + 1);
  if (second == std::string::npos) return std::string();
  std::string charset = Lower(value.substr(0, first));
  if (charset != "utf-8" && charset != "iso-8859-1") return std::string();
  std::string bytes;
  for (size_t i = second + 1; i < value.size(); ++i) {
    if (value[i] == '%' && i + 2 < value.size() && HexValue(value[i + 1]) >= 0 && HexValue(value[i + 2]) >= 0) {
      bytes.push_back(static_cast<char>(HexValue(value[i + 1]) * 16 + HexValue(value[i + 2])));
      i += 2;
    } else {
      bytes.push_back(value[i]);
    }
  }
  if (charset == "utf-8") return bytes;
  std::string utf8;  // ISO-8859-1 -> UTF-8
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      utf8.push_back(static_cast<char>(c));
    } else {
      utf8.push_back(static_cast<char>(0xC0 | (c >> 6)));
      utf8.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return utf8;
}

}  // namespace

std::string FileNameFromContentDisposition(const std::string& header) {
  std::string plain;
  std::string extended;
  std::vector<std::string> parts = SplitParameters(header);
  for (size_t i = 1; i < parts.size(); ++i) {  // parts[0] is the disposition type
    size_t equals = parts[i].find('=');
    if (equals == std::string::npos) continue;
    std::string name = Lower(TrimSpaces(parts[i].substr(0, equals)));
    std::string value = TrimSpaces(parts[i].substr(equals + 1));
    if (name == "filename*") {
      extended = DecodeExtValue(value);
    } else if (name == "filename") {
      plain = Unquote(value);
    }
  }
  return extended.empty() ? plain : extended;
}

}  // namespace urlsession
