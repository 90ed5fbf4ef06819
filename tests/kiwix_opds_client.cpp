// A Kiwix client reading a custom OPDS catalog, with libkiwix 14's own code: kiwix-desktop fetches
// `/catalog/v2/entries?count=-1` from the server a user names (KIWIX_CATALOG_HOST, KIWIX_CATALOG_PORT) and
// hands the body to kiwix::Manager::readOpds, then shows each kiwix::Book (title, languages, size, thumbnail
// fetched by Illustration::getData); its language and category menus come from /catalog/v2/languages and
// /catalog/v2/categories through kiwix::readLanguagesFromFeed and kiwix::readCategoriesFromFeed. This program
// does the same and prints what the client understood, one `field<TAB>value` line each, a `book<TAB><id>`
// line before each book (tests/web/test_kiwix_parity.py, test_client_*).
//
//   opds-client entries <url host, e.g. http://127.0.0.1:8080>  <entries.xml
//   opds-client languages  <languages.xml
//   opds-client categories  <categories.xml
//
// Built by scripts/kiwix-reference.sh --opds-client against Debian 13's libkiwix-dev, run through the trixie
// loader like kiwix-serve. Exit 1 when readOpds refuses the feed.
#include <kiwix/library.h>
#include <kiwix/manager.h>
#include <kiwix/tools.h>

#include <cstdint>
#include <exception>
#include <iostream>
#include <iterator>
#include <string>

namespace {

std::string oneLine(std::string value) {
  for (char& c : value) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  return value;
}

void field(const char* name, const std::string& value) { std::cout << name << '\t' << oneLine(value) << '\n'; }

void field(const char* name, std::uint64_t value) { std::cout << name << '\t' << value << '\n'; }

std::uint64_t fnv1a(const std::string& bytes) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "entries" && argc == 3) || ((mode == "languages" || mode == "categories") && argc == 2))) {
    std::cerr << "usage: opds-client entries <url host> | languages | categories  <feed.xml\n";
    return 64;
  }
  const std::string content((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (mode == "languages") {
    for (const auto& language : kiwix::readLanguagesFromFeed(content)) field("language", language.second + " " + language.first);
    return 0;
  }
  if (mode == "categories") {
    for (const auto& category : kiwix::readCategoriesFromFeed(content)) field("category", category);
    return 0;
  }
  auto library = kiwix::Library::create();
  kiwix::Manager manager(library);
  if (!manager.readOpds(content, argv[2])) {
    std::cerr << "kiwix::Manager::readOpds refused the feed\n";
    return 1;
  }
  for (const auto& id : library->getBooksIds()) {
    const kiwix::Book& book = library->getBookById(id);
    field("book", id);
    field("name", book.getName());
    field("title", book.getTitle());
    field("description", book.getDescription());
    field("languages", book.getCommaSeparatedLanguages());
    field("creator", book.getCreator());
    field("publisher", book.getPublisher());
    field("date", book.getDate());
    field("url", book.getUrl());
    field("tags", book.getTags());
    field("category", book.getCategory());
    field("flavour", book.getFlavour());
    field("articleCount", book.getArticleCount());
    field("mediaCount", book.getMediaCount());
    field("size", book.getSize());
    for (const auto& illustration : book.getIllustrations()) {
      field("illustration", std::to_string(illustration->width) + "x" + std::to_string(illustration->height) + " " +
                                illustration->mimeType + " " + illustration->url);
      try {
        const std::string& data = illustration->getData();  // fetched over HTTP, as kiwix-desktop shows it
        field("illustrationBytes", data.size());
        field("illustrationHash", fnv1a(data));
      } catch (const std::exception& error) {
        field("illustrationError", error.what());
      }
    }
  }
  return 0;
}
