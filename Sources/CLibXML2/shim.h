// libxml2 for NNRTools: the text writer (XML dump, JUnit report) and XSD validation.
// Debian's libxml2 is built with ICU, whose headers clash with Foundation's copy of ICU
// ('UErrorCode' has different definitions): the ICU parts of libxml2 are not needed here.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
